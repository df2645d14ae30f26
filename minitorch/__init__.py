"""minitorch: automatic differentiation from Scalars to Tensors, as taught in the lectures.

``import minitorch`` gives the whole public surface: Scalars and ScalarFunctions, the
shared autodiff engine, Modules and Parameters, optimisers and the toy datasets.
"""

from . import datasets as _datasets_module
from . import operators, scalar_functions
from .autodiff import (
    Context,
    FreedValuesError,
    GraphFreedError,
    Variable,
    backpropagate,
    central_difference,
    enable_grad,
    is_constant,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    topological_sort,
)
from .datasets import Graph
from .module import Module, Parameter
from .operators import prod
from .optim import SGD, Optimizer
from .scalar import Scalar, ScalarHistory, derivative_check
from .scalar_functions import ScalarFunction
from .testing import MathTest, MathTestVariable

version = "0.1.0"
__version__ = version

datasets = _datasets_module.datasets
"""The six toy datasets by name (``minitorch.datasets["Xor"](50)``)."""

__all__ = [
    "SGD",
    "Context",
    "FreedValuesError",
    "Graph",
    "GraphFreedError",
    "MathTest",
    "MathTestVariable",
    "Module",
    "Optimizer",
    "Parameter",
    "Scalar",
    "ScalarFunction",
    "ScalarHistory",
    "Variable",
    "backpropagate",
    "central_difference",
    "datasets",
    "derivative_check",
    "enable_grad",
    "is_constant",
    "is_grad_enabled",
    "no_grad",
    "operators",
    "prod",
    "scalar_functions",
    "set_grad_enabled",
    "topological_sort",
    "version",
]

# --- Tensors (issue 3): storage, backends, Tensor and its Functions ------------------
from . import fast_ops, tensor_data, tensor_functions, tensor_ops  # noqa: E402
from .fast_ops import FastBackend, FastOps  # noqa: E402
from .tensor import History, Tensor  # noqa: E402
from .tensor_data import (  # noqa: E402
    MAX_DIMS,
    Index,
    IndexingError,
    OutIndex,
    Shape,
    Storage,
    Strides,
    TensorData,
    UserIndex,
    UserShape,
    UserStrides,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    strides_from_shape,
    to_index,
)
from .tensor_functions import (  # noqa: E402
    EQ,
    LT,
    Add,
    All,
    BroadcastTo,
    Copy,
    Div,
    Exp,
    Function,
    GetItem,
    Inv,
    IsClose,
    Log,
    MatMul,
    Max,
    Mean,
    Mul,
    Neg,
    Permute,
    Pow,
    ReLU,
    Sigmoid,
    Sub,
    Sum,
    SumTo,
    Tanh,
    View,
    from_numpy,
    grad_central_difference,
    grad_check,
    gradcheck,
    ones,
    rand,
    tensor,
    zeros,
)
from .tensor_ops import (  # noqa: E402
    SimpleBackend,
    SimpleOps,
    TensorBackend,
    TensorFunctions,
    TensorOps,
    make_tensor_backend,
)

__all__ += [
    "EQ",
    "LT",
    "MAX_DIMS",
    "Add",
    "All",
    "BroadcastTo",
    "Copy",
    "Div",
    "Exp",
    "FastBackend",
    "FastOps",
    "Function",
    "GetItem",
    "History",
    "Index",
    "IndexingError",
    "Inv",
    "IsClose",
    "Log",
    "MatMul",
    "Max",
    "Mean",
    "Mul",
    "Neg",
    "OutIndex",
    "Permute",
    "Pow",
    "ReLU",
    "Shape",
    "Sigmoid",
    "SimpleBackend",
    "SimpleOps",
    "Storage",
    "Strides",
    "Sub",
    "Sum",
    "SumTo",
    "Tanh",
    "Tensor",
    "TensorBackend",
    "TensorData",
    "TensorFunctions",
    "TensorOps",
    "UserIndex",
    "UserShape",
    "UserStrides",
    "View",
    "broadcast_index",
    "fast_ops",
    "from_numpy",
    "grad_central_difference",
    "grad_check",
    "gradcheck",
    "index_to_position",
    "make_tensor_backend",
    "ones",
    "rand",
    "shape_broadcast",
    "strides_from_shape",
    "tensor",
    "tensor_data",
    "tensor_functions",
    "tensor_ops",
    "to_index",
    "zeros",
]
# --- end of the tensor block ----------------------------------------------------------

# --- Neural networks (issue 4): nn functions, layers, optimisers, data -----------------
# ``minitorch.max`` is the nn reduction ``max(tensor, dim)`` (contract §0). The activation
# layers ReLU/Sigmoid/Tanh stay in ``minitorch.layers``: those top-level names are the
# tensor Functions.
from . import data, fast_conv, layers, nn  # noqa: E402
from .data import ArrayDataset, DataLoader, load_digits, read_idx  # noqa: E402
from .layers import (  # noqa: E402
    AvgPool2d,
    Conv1d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Linear,
    MaxPool2d,
    Sequential,
)
from .nn import (  # noqa: E402
    Conv1dFun,
    Conv2dFun,
    argmax,
    avgpool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    conv1d,
    conv2d,
    cross_entropy,
    dropout,
    logsoftmax,
    max,
    maxpool2d,
    mse_loss,
    nll_loss,
    softmax,
    tile,
)
from .optim import Adam, AdamW, CosineAnnealingLR, LRScheduler, StepLR  # noqa: E402

__all__ += [
    "Adam",
    "AdamW",
    "ArrayDataset",
    "AvgPool2d",
    "Conv1d",
    "Conv1dFun",
    "Conv2d",
    "Conv2dFun",
    "CosineAnnealingLR",
    "DataLoader",
    "Dropout",
    "Embedding",
    "Flatten",
    "LRScheduler",
    "Linear",
    "MaxPool2d",
    "Sequential",
    "StepLR",
    "argmax",
    "avgpool2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "cross_entropy",
    "data",
    "dropout",
    "fast_conv",
    "layers",
    "load_digits",
    "logsoftmax",
    "max",
    "maxpool2d",
    "mse_loss",
    "nll_loss",
    "nn",
    "read_idx",
    "softmax",
    "tile",
]
# --- end of the nn block ----------------------------------------------------------------

# --- Functional transforms (issue 6): derivative, grad, jacobians, forward mode ---------
from . import forward_mode, functional  # noqa: E402
from .forward_mode import Dual  # noqa: E402
from .functional import (  # noqa: E402
    derivative,
    grad,
    hessian,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)

# The gradient checks live in ``minitorch.gradcheck`` (scalar, tensor_functions and
# functional re-export their old names). At the top level ``gradcheck`` is the function, as
# ``datasets`` is the dict; the module is reached with ``from minitorch.gradcheck import ...``.
from .gradcheck import gradgradcheck  # noqa: E402

__all__ += [
    "Dual",
    "derivative",
    "forward_mode",
    "functional",
    "grad",
    "gradgradcheck",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "value_and_grad",
    "vjp",
]
# --- end of the functional block --------------------------------------------------------

# --- See the graph (issue 5): drawings, backprop frame by frame, forward mode -----------
# graphviz (and Pillow, for GIFs) are imported only when a drawing is made.
from . import viz  # noqa: E402
from .viz import (  # noqa: E402
    BackpropFrame,
    BackpropFrames,
    GraphvizNotFoundError,
    backprop_frames,
    draw,
    draw_modes,
    forward_derivatives,
    reverse_derivatives,
)

__all__ += [
    "BackpropFrame",
    "BackpropFrames",
    "GraphvizNotFoundError",
    "backprop_frames",
    "draw",
    "draw_modes",
    "forward_derivatives",
    "reverse_derivatives",
    "viz",
]
# --- end of the viz block ---------------------------------------------------------------

# --- PyTorch names (issue 10, ops) ------------------------------------------------------
# Creation lives in ``minitorch.creation`` (``tensor zeros ones rand from_numpy`` are the
# same functions re-exported above through ``tensor_functions``). ``minitorch.argmax`` stays
# the course's one-hot mask; ``Tensor.argmax`` gives indices.
import numpy as _np  # noqa: E402

from . import creation  # noqa: E402
from .creation import (  # noqa: E402
    arange,
    empty,
    eye,
    full,
    full_like,
    linspace,
    manual_seed,
    numpy_generator,
    ones_like,
    rand_like,
    randn,
    randn_like,
    zeros_like,
)
from .tensor_functions import LE, Abs, Clamp, Ln, Min, Prod, Sqrt, To, Where, matmul, where  # noqa: E402

float32 = _np.dtype(_np.float32)
"""PyTorch's dtype names, for ``dtype=minitorch.float32`` (NumPy dtypes work as well)."""
float64 = _np.dtype(_np.float64)

__all__ += [
    "LE",
    "Abs",
    "Clamp",
    "Ln",
    "Min",
    "Prod",
    "Sqrt",
    "To",
    "Where",
    "arange",
    "creation",
    "empty",
    "eye",
    "float32",
    "float64",
    "full",
    "full_like",
    "linspace",
    "manual_seed",
    "matmul",
    "numpy_generator",
    "ones_like",
    "rand_like",
    "randn",
    "randn_like",
    "where",
    "zeros_like",
]
# --- end of the ops block ---------------------------------------------------------------
# --- PyTorch names: shapes and joining (issue 10) ---------------------------------------
# Also Tensor methods (``t.reshape``, ``t.flip`` …); ``indexing.normalize_key`` checks keys.
from . import indexing, shape_functions  # noqa: E402
from .shape_functions import (  # noqa: E402
    Cat,
    Flip,
    Repeat,
    Reshape,
    cat,
    chunk,
    flatten,
    flip,
    movedim,
    narrow,
    reshape,
    select,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    transpose,
    unbind,
    unsqueeze,
)

__all__ += [
    "Cat",
    "Flip",
    "Repeat",
    "Reshape",
    "cat",
    "chunk",
    "flatten",
    "flip",
    "indexing",
    "movedim",
    "narrow",
    "reshape",
    "select",
    "shape_functions",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "swapdims",
    "transpose",
    "unbind",
    "unsqueeze",
]
# --- end of the shapes block ------------------------------------------------------------
# --- Saving and loading (issue 10): minitorch.save / minitorch.load, without pickle -----
from .checkpoint import CheckpointError  # noqa: E402
from .module import IncompatibleKeys  # noqa: E402
from .serialization import load, save  # noqa: E402

__all__ += ["CheckpointError", "IncompatibleKeys", "load", "save"]
# --- end of the save/load block -----------------------------------------------------------
# --- PyTorch's nn options (issue 10): functional names, more layers and loss Modules -----
from .layers import (  # noqa: E402
    AvgPool1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    MaxPool1d,
    MSELoss,
    NLLLoss,
)
from .nn import avg_pool1d, avg_pool2d, log_softmax, max_pool1d, max_pool2d  # noqa: E402

__all__ += [
    "AvgPool1d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Identity",
    "MSELoss",
    "MaxPool1d",
    "NLLLoss",
    "avg_pool1d",
    "avg_pool2d",
    "log_softmax",
    "max_pool1d",
    "max_pool2d",
]
# --- end of the PyTorch nn block ----------------------------------------------------------
# --- minitorch.compile (issue 11): trace a step once, replay it ---------------------------
from .compile import Compiled, CompileError, compile  # noqa: E402

__all__ += ["CompileError", "Compiled", "compile"]
# --- end of the compile block ---------------------------------------------------------------

# --- Devices (issue 12): the GPU through CuPy, PyTorch's device API -----------------
# ``import minitorch`` needs no CuPy: it is imported the first time a GPU is asked for.
from . import cuda, cuda_ops, devices  # noqa: E402
from .cuda_ops import CudaOps, mm_practice, sum_practice  # noqa: E402
from .devices import Device, DeviceError  # noqa: E402

device = Device
"""PyTorch's name for the device class: ``minitorch.device("cuda")``."""

__all__ += [
    "CudaOps",
    "Device",
    "DeviceError",
    "cuda",
    "cuda_ops",
    "device",
    "devices",
    "mm_practice",
    "sum_practice",
]

# --- Distributed (issue 13): data parallel on MPI ------------------------------------
# mpi4py is imported only when the process runs under mpiexec with more than one rank.
from . import distributed  # noqa: E402

__all__ += ["distributed"]
