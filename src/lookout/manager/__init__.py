"""The site manager: many sites on one installation (issue 13).

``root`` is the directory layout and the registry of sites, ``processes`` starts and stops a
site's own ``lookout serve`` process, ``manager`` is the operations (create, start, stop,
remove, list), ``backup`` and ``update`` the procedures that keep a site's data safe,
``supervisor`` the long-running ``lookout sites serve`` that owns the processes when it runs.
"""
