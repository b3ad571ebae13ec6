"""Endpoint and region rules, computed from the injected environment and config so a test's
world never leaks in from ``os.environ``.

Endpoints follow botocore's documented precedence:
``AWS_ENDPOINT_URL_<SERVICE>`` > ``[services]`` block of the profile > ``AWS_ENDPOINT_URL`` >
the profile's ``endpoint_url``; ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns all off.
"""

from __future__ import annotations

from collections.abc import Mapping

from credproc import smallfile, validate
from credproc.config import AwsConfig, get_str
from credproc.errors import ConfigError

DEFAULT_REGION = "us-east-1"


def tls_verify(environ: Mapping[str, str], verify_ssl: bool) -> bool | str:
    """The one TLS-verify rule, for botocore and urllib alike: ``--no-verify-ssl`` turns checking
    off (False); otherwise ``AWS_CA_BUNDLE`` names the CA bundle (a path), else the system's (True)."""
    if not verify_ssl:
        return False
    bundle = environ.get("AWS_CA_BUNDLE")
    if bundle:
        _check_bundle(bundle)
    return bundle or True


def _check_bundle(path: str) -> None:
    """OpenSSL reads the bundle itself, so a FIFO there would hang the first call: refuse it (and a
    device, a folder, a file past 16 MiB) first. A missing file is the TLS layer's to report."""
    try:
        smallfile.check(path, smallfile.CONFIG_LIMIT)
    except smallfile.NotASmallFile as exc:
        raise ConfigError(f"cannot read AWS_CA_BUNDLE {path}: {exc.strerror}") from None
    except OSError:
        pass


def _env_service_name(service_id: str) -> str:
    return service_id.upper().replace(" ", "_").replace("-", "_")


def endpoint_url(
    environ: Mapping[str, str], config: AwsConfig, profile: str | None, service_id: str
) -> str | None:
    """``service_id`` as botocore spells it for endpoints: ``sts``, ``sso``, ``sso_oidc``…"""
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    specific = environ.get(f"AWS_ENDPOINT_URL_{_env_service_name(service_id)}")
    if specific:
        return specific
    section = config.profiles.get(profile or "", {})
    services_name = section.get("services")
    if isinstance(services_name, str):
        block = config.services.get(services_name, {}).get(service_id.lower().replace("-", "_"))
        if isinstance(block, Mapping) and isinstance(block.get("endpoint_url"), str):
            return str(block["endpoint_url"])
    return environ.get("AWS_ENDPOINT_URL") or get_str(section, "endpoint_url")


def region_for(
    environ: Mapping[str, str], config: AwsConfig, profile: str | None, override: str | None = None
) -> str | None:
    section = config.profiles.get(profile) if profile and not override else None
    configured = get_str(section, "region") if section is not None else None
    return pick_region(environ, configured, override)


def pick_region(
    environ: Mapping[str, str], configured: str | None, override: str | None = None
) -> str | None:
    """The region rule: ``--region``, else the profile's ``region``, else AWS_REGION, else
    AWS_DEFAULT_REGION; None when none is set (callers that must call AWS use DEFAULT_REGION).
    The region chosen must have a region's shape (a ConfigError naming where it came from): it goes
    into host names and the child's environment, where a space or a NUL would break either."""
    for where, value in (
        ("--region", override),
        ("the profile's region", configured),
        ("AWS_REGION", environ.get("AWS_REGION")),
        ("AWS_DEFAULT_REGION", environ.get("AWS_DEFAULT_REGION")),
    ):
        if value:
            return validate.region(value, where)
    return None
