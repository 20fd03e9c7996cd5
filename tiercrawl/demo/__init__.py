"""The bundled demo: a small web of sites served on loopback, and a campaign over it."""
