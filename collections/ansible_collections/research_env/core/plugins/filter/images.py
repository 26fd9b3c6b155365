# Copyright: research-env contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the hosts' images: the architecture AWS says a type runs, the newest image of it, and
preflight's checks that every type is offered and every image exists and fits its type."""

from __future__ import annotations

from typing import Any


def image_architecture(supported: list[str] | None) -> str | None:
    """The architecture of the image to launch on a type, from the architectures AWS says it supports
    (ec2_instance_type_offerings_info's `architectures`; None when the type is not offered).

    x86_64 wins over i386: the older families that list both (t2, m3, c1, ...) are 64-bit machines that
    also boot 32-bit images, and a 64-bit image is the one wanted (Ubuntu 24.04, the default image, has
    no i386 build at all). DescribeInstanceTypes lists i386 first, so its first entry is the wrong pick.
    Every other type runs one architecture (arm64, or a mac one)."""
    if not supported:
        return None
    return "x86_64" if "x86_64" in supported else supported[0]


def latest_image(images: list[dict[str, Any]], architecture: str) -> dict[str, Any] | None:
    """The newest available image of an architecture, from ec2_ami_info's answer."""
    fitting = [
        i for i in images if i.get("architecture") == architecture and i.get("state", "available") == "available"
    ]
    return max(fitting, key=lambda i: i.get("creation_date", ""), default=None)


def instance_type_errors(instances: dict[str, Any], offered: list[str], zone: str) -> list[str]:
    """Preflight: every host's instance type must be offered in the environment's zone (a typo, a
    retired type and a type the zone lacks all fail here, before anything exists)."""
    return [
        f"instances.{role}.type: {spec.get('type')!r} is not an instance type offered in {zone} (a typo, or a type "
        "this zone lacks). Pick one that is: aws ec2 describe-instance-type-offerings --location-type "
        f"availability-zone --filters Name=location,Values={zone}."
        for role, spec in sorted(instances.items())
        if isinstance(spec, dict) and spec.get("type") not in set(offered)
    ]


def image_errors(
    instances: dict[str, Any],
    architectures: dict[str, list[str]],
    given: list[dict[str, Any]],
    matching: list[dict[str, Any]],
    region: str,
    owner: str,
    name_filter: str,
) -> list[str]:
    """Preflight: each host's image exists and fits its type. `architectures` is
    ec2_instance_type_offerings_info's answer (type -> the architectures AWS says it supports), `given`
    ec2_ami_info's answer for the ami_id overrides (by image-id filter, so a missing id is simply absent),
    `matching` its answer for the name filter compute.yml uses. A type with no architecture is not offered
    in the zone: instance_type_errors names it, and whether an image fits it is not known, so not judged."""
    errors = []
    available = {i.get("image_id"): i for i in given if i.get("state", "available") == "available"}
    for role, spec in sorted(instances.items()):
        if not isinstance(spec, dict):
            continue
        supported = architectures.get(spec.get("type") or "") or []
        arch = image_architecture(supported)
        ami = spec.get("ami_id") or ""
        if ami:
            image = available.get(ami)
            if image is None:
                errors.append(
                    f"instances.{role}.ami_id: {ami} is not an available image in {region} that this account can "
                    "launch. Check the id and the region, or remove ami_id to use the newest image matching "
                    "ami_name_filter."
                )
            elif supported and image.get("architecture") not in supported:
                errors.append(
                    f"instances.{role}.ami_id: {ami} is an {image.get('architecture')} image, but {spec.get('type')} "
                    f"runs {' or '.join(supported)}. Pick an image of that architecture."
                )
        elif arch is not None and latest_image(matching, arch) is None:
            errors.append(
                f"ami_name_filter: no available image of owner {owner} matches {name_filter!r} for {arch} (needed by "
                f"instances.{role}, type {spec.get('type')}). Fix ami_name_filter or ami_owner, or set "
                f"instances.{role}.ami_id."
            )
    return errors


class FilterModule:
    """research-env filters: images."""

    def filters(self) -> dict[str, Any]:
        return {
            "image_arch": image_architecture,
            "latest_image": latest_image,
            "instance_type_errors": instance_type_errors,
            "image_errors": image_errors,
        }
