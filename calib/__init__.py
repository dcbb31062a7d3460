"""Camera calibration (issue 5 item 4): checkerboard intrinsics and the camera file, the assumed field of view, the ground plane."""
