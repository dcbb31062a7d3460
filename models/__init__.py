"""What the nets mean: the K67 keypoint layout, the 2D front end (frontend/), the converted nets (onnx/)."""
