"""Access: app users, roles and passwords, and the checks on what users upload.

Above :mod:`geo.store` (users and their changes are audited in the store) and
:mod:`geo.ingest` (uploads are checked with the same byte-level file checks the readers use).

Public API (import from the module):

- :mod:`geo.access.auth` -- ``User``, ``ROLES``, ``PERMISSIONS``, ``PAGES``, ``can``, ``pages_for``, ``authenticate``,
  ``add_user``, ``set_password``, ``set_role``, ``set_disabled``, ``unlock_user``, ``remove_user``,
  ``bootstrap_admin``, ``user_for_email``, ``session_expired``, ``list_users``, ``AuthError``,
  ``name_fingerprint``, ``source_fingerprint``, ``lockout_minutes``.
- :mod:`geo.access.uploads` -- ``check_upload``, ``safe_filename``, ``contained_path``,
  ``sniff_content``, ``UploadError``.
"""
