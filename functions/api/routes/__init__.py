"""The HTTP routes, one Router per resource; each route is HTTP in, one service call, HTTP out."""
