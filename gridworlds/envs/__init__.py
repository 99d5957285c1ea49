"""Gymnasium and pettingzoo faces of the engines: spaces, argument checks, observations, render hooks."""
