r"""L2 penalty on the layer-0 rows of a batch, as in the LightGCN paper's code.

.. math:: R = \frac{1}{2B} \sum_{e \in \text{batch}} \lVert e \rVert_2^2
"""

from __future__ import annotations

from torch import Tensor


def l2_penalty(*rows: Tensor, batch_size: int) -> Tensor:
    """Half the squared Frobenius norm of all ``rows``, divided by ``batch_size``.

    Shapes:
        each of ``rows``: ``[..., d]``; returns a scalar.
    """
    return sum(r.pow(2).sum() for r in rows) / (2 * batch_size)
