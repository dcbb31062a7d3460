"""Camera calibration: intrinsics, assumed field of view, ground plane (issue on world space; empty so far)."""
