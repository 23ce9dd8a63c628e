"""Opening image files (Tiny-ImageNet, ImageFolder trees, frost textures) safely.

PIL picks a decoder by the file's content, not its name, and some of its plugins hand the file to
an outside program (EPS to Ghostscript). Only the raster formats that image datasets use are
admitted, so a file named .JPEG that is really something else is refused, not interpreted; and a
damaged, truncated or oversized file is a one-line error naming it.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..errors import UserError

FORMATS = ("JPEG", "PNG", "BMP", "PPM", "TIFF", "WEBP")  # PIL format names; torchvision's IMG_EXTENSIONS


def open_image(path: str | Path, mode: str = "RGB") -> Image.Image:
    """The decoded image at `path` converted to `mode` (fully loaded; the file is closed again).

    UserError in one line, naming the file, for anything that is not a whole image of FORMATS.
    """
    try:
        with Image.open(path, formats=FORMATS) as img:
            return img.convert(mode)
    except FileNotFoundError:
        raise UserError(f"image {path} does not exist") from None
    except Image.UnidentifiedImageError:
        raise UserError(f"{path} is not an image file of an allowed format ({', '.join(FORMATS)})") from None
    except Image.DecompressionBombError:  # PIL's guard against a few bytes that decode to gigabytes
        raise UserError(f"image {path} is too large to decode (over {2 * Image.MAX_IMAGE_PIXELS} pixels)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated data, bad headers (PIL raises all four)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"image {path} is damaged ({reason})") from None
