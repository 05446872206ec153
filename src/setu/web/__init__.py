"""The web interface: server-rendered HTML pages and their offline static assets."""
