"""The dashboard over real HTTP: its HTML, its cookies, its forms."""
