"""Channels: each tells people in one way. They never import each other; ``make_channel``
(in :mod:`lookout.notify.channels.factory`) builds the right one from its spec."""
