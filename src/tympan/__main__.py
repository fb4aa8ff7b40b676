"""``python -m tympan``: the ``tympan`` command (``torchrun -m tympan train RECIPE`` runs it per process).

Example (a shell)::

    $ python -m tympan list loss
"""

from __future__ import annotations

from tympan.cli import main

if __name__ == "__main__":
    main()
