"""SCN Studio's PyTorch SpatialConfiguration-Net (FLARE21 EfficientSCN layout): networks, data, losses, export."""
