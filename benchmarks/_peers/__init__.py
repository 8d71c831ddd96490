"""The peer servers of benchmarks/peers.py (MLServer, Mosec): their virtualenvs, the runtime
a user would write for each, and how each is started and stopped.

``venvs.py`` and ``servers.py`` run in the benchmark's own virtualenv; ``opencv_model.py``,
``mlserver_model.py`` and ``mosec_app.py`` run inside the peer's virtualenv (they import only
numpy, OpenCV, onnxruntime and the peer's own package).
"""
