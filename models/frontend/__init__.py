"""The 2D front end: MediaPipe Holistic's CPU graph around its nets (NumPy + OpenCV) -> tracked K67.

Entry point: `Frontend.from_onnx(...).process(rgb, timestamp_s) -> FrontendResult` (holistic.py).
Model facts live in config.py; geometry in anchors/detection/rect/crop/landmarks/smoothing.py
(crop_torch.py: the same crops in torch, for a GPU: FrontendConfig.preprocess);
detector.py runs the SSD detectors (pose, palm); stages in pose.py (body) and hands.py; mmpose.py and
mmpose_stage.py are an alternative body landmark net.
"""
