"""Telegram as a data source, for any system: the message table every source produces
(`messages`), Telegram Desktop JSON exports (`export`) and the live API through Telethon (`live`).

A general library: it knows no system (chat_forecast counts the messages per hour; dialogue
groups them into conversations).
"""
