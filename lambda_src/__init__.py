"""The alert Lambda's runtime code: standard library plus the boto3 the Lambda runtime provides.

Packaged as the ``lambda_src`` package (handler ``lambda_src.alert.handler``); nothing here
imports cdktf, so the constructs can import ``lambda_src.contract`` and the tests call it directly.
"""
