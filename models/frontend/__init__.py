"""The 2D front end: MediaPipe Holistic's CPU graph around its nets (NumPy + OpenCV) -> tracked K67.

Entry point: `Frontend.from_onnx(...).process(rgb, timestamp_s) -> FrontendResult` (holistic.py).
Model facts live in config.py; geometry in anchors/detection/rect/crop/landmarks/smoothing.py;
stages in pose.py (body) and hands.py; mmpose.py is an alternative body landmark net.
"""
