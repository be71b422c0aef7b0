"""cargowatch simulate: a world of ports, companies, staff and containers, with planted criminal
scenarios and their ground truth, written in every format cargowatch reads."""
