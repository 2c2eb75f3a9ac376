"""Services: the operations the CLI and the dashboard call. No Streamlit, no printing."""
