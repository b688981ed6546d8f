"""Tools for testing code that uses stochdepth: the tolerance policy of statistical checks (and, as the
package grows, random problem generators, hypothesis strategies and slow reference implementations).

Nothing here is imported by ``import stochdepth``; hypothesis and QuantLib are imported only by the
modules that need them.
"""

from .tolerance import ALPHA, Z_MAX, within_z

__all__ = ["ALPHA", "Z_MAX", "within_z"]
