"""IAM Roles Anywhere: certificate and key loading, local checks, the X.509 SigV4 signer, the
CreateSession client, and the Source built from them (``source``). One module per concern; nothing
here is imported on the cache-hit path.

For the benchmark: ``signer.sign_create_session`` signs a CreateSession request without any network.
"""
