"""Running Caffe and TensorFlow networks on ONNX Runtime when it gives the same tensors.

- :mod:`.caffe`: Vulcain's Caffe to ONNX converter (the layer families in ``_caffe_*``);
- :mod:`.tensorflow`: tf2onnx, in a child process;
- :mod:`.convert`: either, for a loaded network, under its reference runtime's names;
- :mod:`.compare`: the tolerance, and the comparison of two runtimes' tensors.

The decision is made at deployment (:mod:`vulcain.inference.acceleration`) and kept with
the network's files (:mod:`vulcain.tasks._converted`); a converted network is served by
:class:`vulcain.runtimes.converted.ConvertedRuntime`.
"""
