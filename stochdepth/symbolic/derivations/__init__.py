r"""Closed forms of docs/science.md re-derived by sympy from the limit diffusion itself.

Every derivation starts from an SDE -- the limit diffusion :math:`dX=\|\phi(X)\|/\sqrt n\,dB` of a
width-:math:`n` random residual network (docs/science.md §A3), or the McKean--Vlasov diffusion of its
sequential limit (A6) -- applies Itô's formula (:func:`~stochdepth.symbolic.ito`) and simplifies. Nothing
here types in the result it derives; the tests compare each derivation with the closed form as
docs/science.md states it, and with a deliberately wrong variant that must be told apart.

Symbolic width. Sympy cannot differentiate with respect to a symbolic number of coordinates, so the
derivations in width :math:`n` use :class:`~stochdepth.symbolic.ExchangeableSDE`: the state enters through
coordinate sums such as :math:`\sum_ix_i^2`, and the coordinates may be split into blocks of symbolic
size with a fixed sign. For ReLU we take the active set as a block of :math:`\mu` positive coordinates
and :math:`n-\mu` negative ones (a "generic fixed active set", symbolic in both :math:`n` and
:math:`\mu`): this gives the drift as a function of :math:`\mu`, which the average over
:math:`\mu\sim\mathrm{Binomial}(n,\frac12)` in :func:`~stochdepth.symbolic.derive_relu_log_drift` needs.
(Without blocks, the same derivation returns :math:`\mu` as the coordinate sum
:math:`\sum_i\mathbf 1\{x_i>0\}`; the tests check that both agree, and that both agree with the
finite-dimensional Itô formula for every small :math:`n` and sign pattern.)

One module per section of the science:

* :mod:`~stochdepth.symbolic.derivations.limit` -- the limit diffusion (A3) in given and in symbolic
  width, and the result types :class:`~stochdepth.symbolic.DerivedSDE`,
  :class:`~stochdepth.symbolic.GaussianLaw`;
* :mod:`~stochdepth.symbolic.derivations.moments` -- moment ODEs of any symbolic SDE;
* :mod:`~stochdepth.symbolic.derivations.linear` -- the linear network (A4, and the squared norm of A3);
* :mod:`~stochdepth.symbolic.derivations.relu` -- the ReLU network (A5);
* :mod:`~stochdepth.symbolic.derivations.sequential` -- Gaussian expectations and the variance and
  kernel ODEs of the sequential limits (A6).

The public names are exported by :mod:`stochdepth.symbolic`. Provenance: each function says which claim
of docs/science.md it verifies and with which tag.
"""
