"""Server-rendered pages (Jinja2) over the same use cases as the API."""
