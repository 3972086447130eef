"""Error codes of the channel-code domain."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed


class UnknownChannelCode(NotFound):
    # One code for "never existed" and "switched off": a scanner learns nothing more.
    code = "channel_code.unknown"
    message = "No such channel code."


class ChannelCodeTaken(Conflict):
    code = "channel_code.taken"
    message = "That channel code is already in use."


class InvalidChannelCode(ValidationFailed):
    code = "channel_code.invalid"
    message = "The channel code is invalid."


class InvalidGuide(ValidationFailed):
    code = "channel_code.invalid_guide"
    message = "The guide must be an active staff member with the guide role."


class InvalidPosterImage(ValidationFailed):
    code = "channel_code.invalid_image"
    message = "The poster background must be a PNG or JPEG image."


class PosterImageTooLarge(PayloadTooLarge):
    code = "channel_code.image_too_large"
    message = "The poster background is too large."


class UnknownStaff(NotFound):
    code = "channel_code.unknown_staff"
    message = "No active staff member with that username."
