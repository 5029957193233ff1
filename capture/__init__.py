"""Camera I/O: every connection the product makes to a camera, and nothing else.

It takes a plain description of a camera (camera.Camera), returns frames or raises
errors.CaptureError, and imports no app: rtsp (RTSP with PyAV), still (a camera's HTTP snapshot
URL), onvif (discovery, keyframes on request), live (the store of each held camera's newest
keyframe), sessions (the stream keeper's per-camera sessions), sources (which of them a capture
takes its frame from). Its callers read cameras from the register and write what it finds."""
