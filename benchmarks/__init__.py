"""`mocap-bench` per-module latency reports and the side-by-side comparison with MediaPipe Holistic."""
