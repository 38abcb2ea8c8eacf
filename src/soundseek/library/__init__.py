"""Stage 1, the library: find the audio files under the user's folders and the words that describe them."""
