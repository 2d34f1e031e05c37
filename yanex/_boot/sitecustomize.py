"""Start-up hook of a prepared interpreter: hold it until its experiment is released.

Python imports ``sitecustomize`` at the end of its start-up, after ``site`` has set up
``sys.path`` and before it runs the main script. A prepared interpreter is started with this
folder first on ``PYTHONPATH`` and ``YANEX_WARM_FD`` set; ``yanex._warm.hold`` waits there,
then removes every trace of the hook before Python goes on to run the script itself.
"""

import os

if "YANEX_WARM_FD" in os.environ:  # = _context.ENV_WARM_FD (no yanex import before)
    from yanex._warm import hold

    hold(__name__)
