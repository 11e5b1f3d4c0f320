"""The fused native engine: the QRNN recurrence as one TensorFlow custom op in C++.

`kernels/` holds the C++ (one sample's whole sequence fused in one core's cache, forward
and hand-written backward; the batch split over TensorFlow's threads), built by `make` or
`python -m qrnn_tfq.native.build` into `_qrnn_ops.so` next to this file, the way
TensorFlow Quantum ships its simulators. `library` loads it (or says why not), `engine`
is the `Engine` the layers run on with `engine="native"`, and the default `"auto"`.
The pure-TensorFlow engine (`qrnn_tfq.engine`) stays the reference and the GPU path.
"""

from qrnn_tfq.native.library import available as available
from qrnn_tfq.native.library import unavailable_reason as unavailable_reason

__all__ = ["available", "unavailable_reason"]
