"""minitorch: automatic differentiation from Scalars to Tensors, as taught in the lectures.

``import minitorch`` gives the whole public surface: Scalars and ScalarFunctions, the
shared autodiff engine, Modules and Parameters, optimisers and the toy datasets.
"""

from . import datasets as _datasets_module
from . import operators, scalar_functions
from .autodiff import (
    Context,
    GraphFreedError,
    Variable,
    backpropagate,
    central_difference,
    enable_grad,
    is_grad_enabled,
    no_grad,
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
    "is_grad_enabled",
    "no_grad",
    "operators",
    "prod",
    "scalar_functions",
    "topological_sort",
    "version",
]
