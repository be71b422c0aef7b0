"""TAXII 2.1: the server over our bulletins, and the client that pulls from partners."""
