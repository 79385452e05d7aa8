"""The application: the HTTP API's operations (`service`), the task run (`run`), the janitor's duties
(`janitor`) and the task queue (`queue`). It uses the store and the Claude backends; nothing below uses it.
"""
