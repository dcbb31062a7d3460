"""The live application: capture, the threaded stage pipeline, drawing, recording, `mocap-live`."""
