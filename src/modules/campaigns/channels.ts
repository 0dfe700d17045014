import { campaignErrors } from './errors.js';
import { type MessageChannel, messageChannels } from './tables.js';

/**
 * A channel named in a request: SMS or email. Anything else (voice, call, telemarketing, a typo) is
 * refused with one stable code, checked here rather than by the schema so that the refusal says why.
 */
export function requireChannel(channel: string): MessageChannel {
  if (!(messageChannels as readonly string[]).includes(channel)) {
    throw campaignErrors.channel_not_allowed(`"${channel}" is not a message channel: messages go by SMS or email only; there is no voice channel, and telemarketing is out of scope by design`);
  }
  return channel as MessageChannel;
}

/** The channels named in a request, in order of preference, each once. */
export const requireChannels = (channels: string[]) => [...new Set(channels.map(requireChannel))];
