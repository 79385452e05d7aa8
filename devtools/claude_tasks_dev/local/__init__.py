"""The embedded local stack: moto server, resources from `template.yaml`, the handlers behind them."""
