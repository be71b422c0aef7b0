"""Transport documents (DCSA eBL 3.0): what was declared for a shipment."""
