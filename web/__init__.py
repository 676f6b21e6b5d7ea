"""The web app: serves the cached document as JSON, SSE, a widget and an SVG card."""
