"""The Streamlit service's plumbing: cached library calls and shared widgets.

``app.py`` (the entry point) and the page scripts under ``app_pages/`` use this
package; it holds no analysis — every number comes from a ``geo`` function,
called through the caches in :mod:`geo.app.data` so a widget change or a map
click never recomputes what is already known.  Importing it requires
Streamlit; the rest of ``geo`` does not.

Modules: :mod:`~geo.app.lang` (the language switch), :mod:`~geo.app.session` (login gate,
roles, audited downloads), :mod:`~geo.app.ui` (filters, tables, errors as messages),
:mod:`~geo.app.mapview` (the pages' map: a base kept open in the browser, analysis layers
swapped into it, cached), :mod:`~geo.app.data` (cached library calls, keyed on the events'
version), :mod:`~geo.app.background` (the forecast computed on a background thread while the page is
read; imports no Streamlit).  The top of the stack with :mod:`geo.cli`.
"""
