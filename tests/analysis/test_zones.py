import numpy as np
import pytest

from geo.analysis.zones import cluster_labels
from geo.grid.crs import to_metric


def _two_clusters(lon0, lat0, seed=0):
    """Two tight clusters 500 m apart east-west plus noise, in WGS84 around (lon0, lat0)."""
    rng = np.random.default_rng(seed)
    dlon = 500 / (111_320 * np.cos(np.radians(lat0)))
    lon = np.concatenate([lon0 + rng.normal(0, 0.0002, 60), lon0 + dlon + rng.normal(0, 0.0002, 60),
                          lon0 + rng.uniform(-0.02, 0.02, 40)])
    lat = np.concatenate([lat0 + rng.normal(0, 0.00015, 60), lat0 + rng.normal(0, 0.00015, 60),
                          lat0 + rng.uniform(-0.02, 0.02, 40)])
    return lon, lat


@pytest.mark.parametrize("place", [(116.37, 39.91), (116.05, 40.45), (117.20, 40.60), (115.90, 39.60)])
def test_eps_in_metres_gives_the_same_clusters_anywhere_in_beijing(place):
    lon, lat = _two_clusters(*place)
    x, y = to_metric(lon, lat, "EPSG:4548")
    labels = cluster_labels(x, y, eps_m=100, min_samples=10)
    assert sorted(np.bincount(labels[labels >= 0]).tolist()) == [60, 60]
    assert len(set(labels[:60])) == 1 and len(set(labels[60:120])) == 1 and labels[0] != labels[60]


def test_hdbscan_matches_scikit_learn_on_a_small_case():
    from sklearn.cluster import HDBSCAN as SkHDBSCAN
    lon, lat = _two_clusters(116.37, 39.91, seed=3)
    x, y = to_metric(lon, lat, "EPSG:4548")
    ours = cluster_labels(x, y, algorithm="hdbscan", min_samples=10)
    ref = SkHDBSCAN(min_cluster_size=10, min_samples=10, copy=True).fit_predict(np.column_stack([x, y]))
    # same partition up to label names
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(ours, ref) > 0.95
    assert (ours[:120] >= 0).mean() > 0.9


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="metres"):
        cluster_labels(np.zeros(3), np.zeros(3), eps_m=0)
    with pytest.raises(ValueError, match="dbscan"):
        cluster_labels(np.zeros(3), np.zeros(3), algorithm="kmeans")
