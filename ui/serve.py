"""The dashboard's server process: ``python -m ui.serve run ui/app.py [streamlit options]``.

The same as ``streamlit run``, except that the map's libraries (folium pulls in pandas;
seconds on a busy 2-core machine) are imported in a background thread as soon as the
server starts, so the first user's first map does not wait for them. ``disaster-ops
serve``/``demo`` start the dashboard this way.
"""

from __future__ import annotations

import logging
import sys
import threading

logger = logging.getLogger(__name__)


def _preload() -> None:
    # Not streamlit_folium itself: a component declared before the runtime (or off a script
    # thread) is not served (the browser gets 404 for its frontend); its folium plugins are.
    try:
        import folium.plugins  # noqa: F401 - what streamlit_folium imports

        import disaster_ops.services.missions  # noqa: F401 - planning, shapely, the planner
        import ui.layers  # noqa: F401 - folium, branca, pandas, the map services
    except Exception:  # a failed preload only means a slower first map
        logger.exception("preloading the map libraries failed")


def main() -> None:
    threading.Thread(target=_preload, name="map-preload", daemon=True).start()
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit_main()


if __name__ == "__main__":
    main()
