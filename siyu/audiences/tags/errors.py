"""Stable error codes of tag groups, tags and tagging customers."""

from __future__ import annotations

from siyu.core.errors import Conflict, NotFound, ValidationFailed


class TagGroupNotFound(NotFound):
    code = "audience.tag_group_not_found"
    message = "No such tag group."


class TagNotFound(NotFound):
    code = "audience.tag_not_found"
    message = "No such tag."


class TagGroupExists(Conflict):
    code = "audience.tag_group_exists"
    message = "A tag group with this name already exists."


class TagExists(Conflict):
    code = "audience.tag_exists"
    message = "A tag with this name already exists in the group."


class TagIsRule(Conflict):
    """A rule tag's holders are whoever its rule matches; hands off."""

    code = "audience.tag_is_rule"
    message = "A rule tag is maintained by its rule and cannot be added or removed by hand."


class TagGroupNotEmpty(Conflict):
    code = "audience.tag_group_not_empty"
    message = "The group still holds tags."


class InvalidTag(ValidationFailed):
    code = "audience.tag_invalid"
    message = "The tag is invalid."


class TooManyCustomers(ValidationFailed):
    code = "audience.too_many_customers"
    message = "Too many customers in one request."
