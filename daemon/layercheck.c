/* The entry point of the layercheck_<folder> programs (daemon/meson.build):
 * each links one folder's whole archive against only the folders and
 * libraries that folder may use, so that the link itself is the check. */
int main(void)
{
	return 0;
}
