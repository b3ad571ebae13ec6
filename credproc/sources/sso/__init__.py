"""IAM Identity Center: the session settings, the AWS CLI's token cache, SSO-OIDC login flows,
token refresh, and the SSO portal calls. ``source`` builds the Source on top of it.

Imported only on a cache miss (it pulls in botocore); the hit path never reaches it.
"""
