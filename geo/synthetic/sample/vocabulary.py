"""What the synthetic events are made of: category shares, seasons, hour and weekday profiles, texts."""

from __future__ import annotations

import numpy as np

from geo.settings import DEFAULT_CATEGORIES

# --------------------------------------------------------------------------- #
# categories: codes, raw labels, unknown raw values
# --------------------------------------------------------------------------- #
CATS: tuple[str, ...] = tuple(c.code for c in DEFAULT_CATEGORIES)
CAT_INDEX = {c: i for i, c in enumerate(CATS)}


def _raw_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels: list[str] = []
    offset, count = [], []
    for c in DEFAULT_CATEGORIES:
        names = [c.label_zh] + [s for s in c.synonyms if s != c.label_zh]
        offset.append(len(labels))
        count.append(len(names))
        labels.extend(names)
    return np.array(labels, dtype=object), np.array(offset), np.array(count)


RAW_LABELS, RAW_OFFSET, RAW_COUNT = _raw_table()

UNKNOWN_CATEGORIES: dict[str, tuple[str, ...]] = {
    "patrol": ("其他", "共享单车乱停", "小广告", "其它问题"),
    "hotline": ("噪音扰民", "咨询", "其他", "物业纠纷"),
    "violation": ("不按规定车道行驶", "未戴安全头盔", "其他违法行为"),
    "snapshot": ("其他", "绿化破坏", "小广告"),
}

# base shares of the background categories of each source (patrol per mode)
SHARES: dict[str, dict[str, float]] = {
    "patrol_nightly": {"etricycle": .26, "illegal_parking": .12, "zombie_vehicle": .08, "unlicensed_vending": .08,
                       "road_occupation": .06, "debris_pile": .08, "battery_charging": .06,
                       "corridor_parking": .05, "garbage": .06, "illegal_construction": .03, "bbq_smoke": .05,
                       "coal_stove": .01, "manhole": .03, "pavement": .03},
    "patrol_weekly": {"corridor_parking": .28, "battery_charging": .28, "debris_pile": .15, "zombie_vehicle": .1,
                      "illegal_construction": .06, "garbage": .1, "coal_stove": .03},
    "patrol_monthly": {"etricycle": .4, "illegal_parking": .2, "unlicensed_vending": .14, "road_occupation": .14,
                       "zombie_vehicle": .12},
    "hotline": {"road_occupation": .13, "unlicensed_vending": .08, "debris_pile": .12, "illegal_construction": .10,
                "parking_difficulty": .12, "manhole": .06, "pavement": .09, "battery_charging": .06,
                "corridor_parking": .04, "garbage": .08, "bbq_smoke": .05, "illegal_parking": .04,
                "etricycle": .02, "coal_stove": .01},
    "violation": {"red_light": .33, "wrong_way": .25, "motor_lane": .20, "illegal_parking": .22},
    "snapshot": {"garbage": .2, "debris_pile": .15, "manhole": .1, "pavement": .15, "illegal_parking": .13,
                 "zombie_vehicle": .08, "road_occupation": .07, "unlicensed_vending": .05,
                 "illegal_construction": .04, "etricycle": .03},
}

# monthly warmth (Beijing, 1 = May) and each category's exponent on it
WARMTH = np.array([.45, .5, .65, .85, 1.0, 1.2, 1.3, 1.3, 1.1, .9, .65, .5])
SEASON_EXP = {"bbq_smoke": 2.0, "unlicensed_vending": 1.0, "road_occupation": .7, "garbage": .4,
               "coal_stove": -4.0, "battery_charging": -.3, "corridor_parking": -.3}

# road-class weights per metre of road, per source
CLASSES = ("main", "secondary", "branch", "alley")
CLASS_W = {
    "patrol": (.4, .7, 1.0, 1.4),
    "patrol_weekly": (.1, .3, 1.0, 1.6),
    "hotline": (.3, .6, 1.0, 1.3),
    "snapshot": (.8, 1.0, 1.0, .8),
    "violation_road": (1.0, .9, .5, .1),
}
NODE_CLASS_W = np.array([3.0, 2.0, 1.0, .3])  # importance of a crossing road by class
NODE_POWER = 1.0  # background violations per crossing ∝ importance ** this

# --------------------------------------------------------------------------- #
# hour-of-day profiles (weights per hour 0..23), weekday / weekend
# --------------------------------------------------------------------------- #
def _profile(pairs: dict[int, float]) -> np.ndarray:
    w = np.zeros(24)
    for h, v in pairs.items():
        w[h] = v
    return w


H_NIGHTLY = _profile({19: 1.0, 20: 1.25, 21: 1.25, 22: .9, 5: .25, 6: .45})
H_WEEKLY = _profile({9: 1, 10: 1.2, 11: 1, 14: 1.1, 15: 1.2, 16: .9})
H_MONTHLY = _profile({14: 1, 15: 1.2, 16: 1})
H_HOTLINE_WD = _profile({0: .08, 1: .05, 2: .04, 3: .04, 4: .05, 5: .1, 6: .25, 7: .6, 8: 1.2, 9: 1.6, 10: 1.7,
                          11: 1.5, 12: .75, 13: .9, 14: 1.5, 15: 1.5, 16: 1.4, 17: 1.2, 18: 1.0, 19: .95,
                          20: .8, 21: .6, 22: .35, 23: .15})
H_HOTLINE_WE = _profile({0: .1, 1: .06, 2: .05, 3: .04, 4: .05, 5: .08, 6: .2, 7: .4, 8: .8, 9: 1.2, 10: 1.4,
                          11: 1.3, 12: .8, 13: .9, 14: 1.3, 15: 1.3, 16: 1.2, 17: 1.1, 18: 1.0, 19: 1.0,
                          20: .9, 21: .7, 22: .4, 23: .2})
H_VIOL_WD = _profile({0: .05, 1: .03, 2: .02, 3: .02, 4: .03, 5: .1, 6: .5, 7: 3.2, 8: 3.4, 9: .9, 10: .7,
                       11: .7, 12: .8, 13: .7, 14: .7, 15: .8, 16: 1.0, 17: 3.2, 18: 3.0, 19: .9, 20: .5,
                       21: .35, 22: .2, 23: .1})
H_VIOL_WE = _profile({0: .06, 1: .04, 2: .03, 3: .02, 4: .03, 5: .08, 6: .25, 7: .6, 8: .9, 9: 1.0, 10: 1.1,
                       11: 1.1, 12: 1.0, 13: .9, 14: 1.0, 15: 1.1, 16: 1.1, 17: 1.1, 18: 1.0, 19: .8, 20: .5,
                       21: .35, 22: .2, 23: .1})
H_PARKING = _profile({h: (1.0 if 8 <= h <= 20 else .25) for h in range(24)})
H_SNAP_WD = _profile({h: v for h, v in zip(range(7, 23), (.4, .9, 1.1, 1.1, 1.0, .9, .8, .9, 1.0, 1.0, 1.1,
                                                          1.2, 1.1, .9, .6, .3), strict=True)})
H_SNAP_WE = _profile({h: v for h, v in zip(range(7, 23), (.3, .6, 1.0, 1.2, 1.2, 1.0, 1.0, 1.1, 1.2, 1.2, 1.1,
                                                          1.1, 1.0, .9, .6, .3), strict=True)})

# day-of-week factors (Monday first)
DOW = {
    "patrol": np.ones(7),
    "hotline": np.array([1.05, 1.0, 1.0, 1.0, .95, .75, .75]),
    "violation": np.array([1.0, 1.0, 1.0, 1.0, 1.05, .55, .5]),
    "snapshot": np.array([.9, .9, .9, .9, .95, 1.3, 1.3]),
}

# --------------------------------------------------------------------------- #
# texts (all synthetic; every character is GBK-encodable)
# --------------------------------------------------------------------------- #
PATROL_TEXT: dict[str, tuple[str, ...]] = {
    "etricycle": ("{road}发现电动三轮车违规停放", "{road}路口有老年代步车上路行驶", "{road}一辆电动四轮车占用非机动车道停放",
                  "巡查至{road}，发现非标电动车载客"),
    "illegal_parking": ("{road}机动车违停占用人行道", "{road}非机动车乱停乱放影响通行", "{road}路边车辆违规停放"),
    "zombie_vehicle": ("{road}有长期停放的废弃车辆", "{road}路边僵尸车一辆，积灰严重", "{road}废弃电动车多辆"),
    "unlicensed_vending": ("{road}有流动商贩摆摊", "{road}游商售卖水果", "{road}无照摊贩占道销售"),
    "road_occupation": ("{road}商户店外经营", "{road}店铺出店摆放商品", "{road}餐馆占道摆桌"),
    "debris_pile": ("{road}路边堆放建筑垃圾", "{road}有渣土堆放未苫盖", "{road}杂物乱堆乱放"),
    "battery_charging": ("{road}居民楼私拉电线充电", "{road}发现飞线充电", "{road}平房院内电瓶入户充电"),
    "corridor_parking": ("{road}楼道内停放电动车", "{road}单元门口电动车进楼", "{road}楼道停放电动车堵塞通道"),
    "garbage": ("{road}垃圾桶满溢", "{road}垃圾未分类投放", "{road}路边垃圾乱扔"),
    "illegal_construction": ("{road}平房院内私搭乱建", "{road}疑似新建违建", "{road}有开墙打洞现象"),
    "bbq_smoke": ("{road}夜间露天烧烤", "{road}烧烤油烟扰民"),
    "coal_stove": ("{road}平房使用煤炉取暖", "{road}发现散煤"),
    "manhole": ("{road}井盖破损", "{road}井盖缺失，已设置警示"),
    "pavement": ("{road}步道砖破损", "{road}路面坑洼"),
}
HOTLINE_TEXT: dict[str, tuple[str, ...]] = {
    "etricycle": ("市民来电反映：{addr}附近经常有电动三轮车逆行，存在安全隐患，希望加强管理。",
                  "来电人称{addr}门口停放多辆老年代步车，影响通行。"),
    "illegal_parking": ("市民来电反映：{addr}门口车辆乱停，堵塞消防通道。", "来电人称{addr}附近非机动车乱停乱放。"),
    "zombie_vehicle": ("市民来电反映：{addr}旁有一辆废弃车辆长期停放，无人处理。",),
    "unlicensed_vending": ("市民来电反映：{addr}附近每天下午有流动商贩摆摊，影响通行，希望尽快处理。",
                           "来电人称{addr}门口游商聚集，噪音大、垃圾多。", "市民反映{addr}周边有无照摊贩售卖。"),
    "road_occupation": ("市民来电反映：{addr}的商户长期店外经营，占用人行道。", "来电人称{addr}附近形成马路市场，行人难以通过。"),
    "debris_pile": ("市民来电反映：{addr}旁堆放大量建筑垃圾，多日无人清运。", "来电人称{addr}楼下杂物乱堆乱放，存在消防隐患。"),
    "battery_charging": ("市民来电反映：{addr}有居民从楼上私拉电线给电动车充电，存在火灾隐患。",
                         "来电人称{addr}楼道内飞线充电，希望尽快处理。"),
    "corridor_parking": ("市民来电反映：{addr}楼道内长期停放电动车，堵塞通道。",),
    "garbage": ("市民来电反映：{addr}垃圾桶满溢，异味严重。", "来电人称{addr}附近垃圾未按分类投放。"),
    "illegal_construction": ("市民来电反映：{addr}院内有人私搭乱建。", "来电人称{addr}一层商户开墙打洞。"),
    "bbq_smoke": ("市民来电反映：{addr}附近夜间有露天烧烤，油烟扰民。",),
    "coal_stove": ("市民来电反映：{addr}有住户烧煤取暖，烟味大。",),
    "manhole": ("市民来电反映：{addr}门口井盖破损，存在安全隐患。", "来电人称{addr}附近井盖缺失。"),
    "pavement": ("市民来电反映：{addr}门前步道砖破损，老人容易摔倒。", "来电人称{addr}附近路面坑洼，雨天积水。"),
    "parking_difficulty": ("市民来电反映：{addr}小区停车位不足，希望协调停车。", "来电人称{addr}附近停车难，夜间无处停车。"),
    "other": ("市民来电反映：{addr}附近问题，希望相关部门处理。",),
}
SNAP_TEXT: dict[str, tuple[str, ...]] = {
    "garbage": ("{road}垃圾满溢", "{road}有人乱扔垃圾"), "debris_pile": ("{road}建筑垃圾堆放", "{road}杂物堆放"),
    "manhole": ("{road}井盖松动", "{road}井盖破损"), "pavement": ("{road}路面塌陷", "{road}步道破损"),
    "illegal_parking": ("{road}车辆乱停", "{road}共享单车堆积"), "zombie_vehicle": ("{road}僵尸车",),
    "road_occupation": ("{road}店外经营",), "unlicensed_vending": ("{road}游商摆摊",),
    "illegal_construction": ("{road}私搭乱建",), "etricycle": ("{road}电动三轮车违停",),
    "battery_charging": ("{road}飞线充电",), "corridor_parking": ("{road}电动车进楼",),
    "bbq_smoke": ("{road}露天烧烤",), "coal_stove": ("{road}烧煤冒烟",), "red_light": ("{road}闯红灯",),
    "wrong_way": ("{road}逆行",), "motor_lane": ("{road}占用机动车道",), "parking_difficulty": ("{road}停车难",),
}
ACTIONS: dict[str, tuple[str, ...]] = {  # mild → harsh
    "etricycle": ("劝离", "教育", "登记劝导", "暂扣"), "illegal_parking": ("劝离", "教育", "张贴告知书", "拖移"),
    "zombie_vehicle": ("登记", "张贴告知书", "拖移"), "unlicensed_vending": ("劝离", "教育", "暂扣", "立案"),
    "road_occupation": ("教育", "整改", "立案"), "debris_pile": ("整改", "清理", "上报"),
    "battery_charging": ("教育", "拆除飞线", "整改"), "corridor_parking": ("劝离", "教育", "整改"),
    "garbage": ("教育", "清理"), "illegal_construction": ("上报", "整改", "立案"), "bbq_smoke": ("劝离", "暂扣", "立案"),
    "coal_stove": ("教育", "整改"), "manhole": ("上报", "设置警示"), "pavement": ("上报", "设置警示"),
}
PATROL_MODES = np.array(["每日一巡", "每周一查", "每月一罚"], dtype=object)
PATROL_STATUS = np.array(["已处置", "处置中", "待处置"], dtype=object)
HOTLINE_STATUS = np.array(["已办结", "办理中", "待受理", "已退回"], dtype=object)
SNAP_STATUS = np.array(["已处理", "处理中", "未处理"], dtype=object)
VEHICLES = np.array(["电动自行车", "电动三轮车", "电动四轮车", "自行车", "摩托车", "小型汽车"], dtype=object)
VEH_P_MOVING = np.array([.52, .2, .08, .08, .05, .07])
VEH_P_PARKING = np.array([.15, .15, .1, .0, .0, .6])
SURNAMES = tuple("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯董")
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "杰", "军", "勇", "涛", "明", "超", "霞", "平", "刚",
          "鑫", "宇", "浩", "婷", "建国", "海燕", "志强", "丽华", "晓东", "春生", "秀英", "立新")
PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=object)
PLATE_CHARS = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=object)
FAKE_ROADS = ("幸福大街", "光明路", "建设东路", "和平里南街", "前进胡同")
TYPO_MAP = {"东": "冬", "西": "希", "南": "男", "北": "背", "路": "璐", "街": "接", "巷": "向", "胡": "湖",
             "一": "1", "二": "2", "三": "3", "条": "调", "大": "达", "样": "洋", "例": "列"}
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"), dtype=object)
ID_REGIONS = np.array(["110102", "110101", "110105", "110108", "130102", "120101", "370102", "410105"],
                       dtype=object)
