"""Code that the poller and the web app both use: settings, the document, the store."""
