"""One module per dataset; importing this package registers them all in SOURCES."""
from . import cifar100, digits, fashion_mnist, imagenet, tiny_imagenet  # noqa: F401
