"""Turning sources into runnable nets: MediaPipe .tflite -> ONNX (own environment), `mocap-export`."""
